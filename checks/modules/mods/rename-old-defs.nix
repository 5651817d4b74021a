# Definitions of the old names.
{ lib, ... }: {
  old.name = "renamed";
  alias.port = 8080;
  old.size = 2;
  old.host = "box";
  old.domain = "lan";
}
