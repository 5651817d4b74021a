[ (builtins.isNull null) (null == null) (builtins.isNull 0) ]
