{ value = 21; dir = baseNameOf ./.; }
