toString [ false ]
