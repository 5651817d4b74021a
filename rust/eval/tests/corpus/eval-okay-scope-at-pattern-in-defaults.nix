[ ((args@{ a ? args.b, b }: a) { b = 5; }) (({ a ? 1, ... }@all: all) { b = 2; }) ]
