"${./fixtures/tree/a}"
