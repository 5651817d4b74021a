[ "é" "日本語" "emoji 😀" "\u0001" "control\u001f" "tab\t" "del" "nul-less" ]
