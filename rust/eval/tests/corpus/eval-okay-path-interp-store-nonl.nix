[ "${./fixtures/nonl.txt}" "${./fixtures/empty.txt}" "${./fixtures/tree}" ]
