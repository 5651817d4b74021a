let c = "yes"; in
  if c then 1 else 2
