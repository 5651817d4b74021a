"${./fixtures/dir}"
