with { d = "from-with"; }; ({ a ? d }: a) { }
