let f = args@{ x ? 1 }: args; in f { }
