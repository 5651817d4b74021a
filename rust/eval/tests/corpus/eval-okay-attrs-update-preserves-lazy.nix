({ a = throw "left"; } // { a = 1; }).a
