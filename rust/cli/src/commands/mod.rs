//! One module per `nixspot` subcommand.
