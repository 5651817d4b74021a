builtins.toJSON [ "\"" "\\" "/" "\n" "\r" "\t" "\u0008" "\u000c" "\u001f" "\u007f" "é" "😀" ]
