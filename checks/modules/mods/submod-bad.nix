{ items.book.size = -4; }
