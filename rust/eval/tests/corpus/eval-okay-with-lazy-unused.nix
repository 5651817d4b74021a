with (throw "never evaluated"); 5
