args@{ args }: 1
