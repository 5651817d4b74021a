let x = "outer"; f = { x ? "default", y ? x }: y; in [ (f { }) (f { x = "given"; }) ]
