{ ... }: { ex.tags = [ "from-disabled-child" ]; }
