(import <corpus>).sum [ 1 2 3 ]
