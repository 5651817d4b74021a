builtins.functionArgs ({ a ? throw "never", b }: a)
