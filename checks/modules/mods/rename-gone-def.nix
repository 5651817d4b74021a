{ old.gone = true; }
