import ./fixtures/dir/run.sh
