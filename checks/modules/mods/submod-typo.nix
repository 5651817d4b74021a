{ items.book.lable = "x"; }
