builtins.toXML [ "<tag attr=\"v\">&amp; ' </tag>" "line\nbreak" ]
