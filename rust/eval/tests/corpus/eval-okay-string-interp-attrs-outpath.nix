"a${{ outPath = "/some/where"; }}b"
