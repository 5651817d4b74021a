# Every kind of file mistake image-creator would reject.
{
  hotspot.files = {
    escape = { to = "/etc/passwd"; content = "x"; };
    dotdot = { to = "/data/../etc/x"; content = "x"; };
    same1 = { to = "/data/contents/files/same"; content = "1"; };
    same2 = { to = "/data/contents/files/same"; content = "2"; };
    badvia = { url = "https://example.org/a"; via = "rar"; };
    archive-content = { content = "x"; via = "zip"; };
    badalgo = { url = "https://example.org/b"; checksum = { algo = "crc32"; value = "00"; }; };
    shortsha = { url = "https://example.org/c"; checksum = { algo = "md5"; value = "abc"; }; };
    both = { url = "https://example.org/d"; content = "x"; };
    ftp = { url = "ftp://example.org/x"; };
  };
}
