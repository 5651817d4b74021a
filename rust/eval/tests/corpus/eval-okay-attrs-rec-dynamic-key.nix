let k = "name"; in rec { ${k} = "v"; other = 1; }
