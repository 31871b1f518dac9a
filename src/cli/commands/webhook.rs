//! `retractor webhook hash-token`: the hash a config keeps for a webhook bearer token.

use std::io::Read;

use crate::alerts::webhook::hash_token;
use crate::cli::args::{WebhookArgs, WebhookCommand};
use crate::cli::{CliError, exit};

/// The largest token read: a bearer token is short; more is a mistake (a file piped in).
const MAX_TOKEN_BYTES: u64 = 4096;

pub(super) fn run(args: WebhookArgs) -> Result<u8, CliError> {
    match args.command {
        WebhookCommand::HashToken => {
            let mut input = String::new();
            std::io::stdin()
                .take(MAX_TOKEN_BYTES + 1)
                .read_to_string(&mut input)
                .map_err(|e| CliError::bad_input(format!("standard input: {e}")))?;
            if input.len() as u64 > MAX_TOKEN_BYTES {
                return Err(CliError::bad_input(format!(
                    "standard input: a token is at most {MAX_TOKEN_BYTES} bytes"
                )));
            }
            let token = input.trim();
            if token.is_empty() || token.contains(char::is_whitespace) {
                return Err(CliError::bad_input(
                    "standard input: give one token, without spaces, on one line",
                ));
            }
            println!("{}", hash_token(token));
            Ok(exit::OK)
        }
    }
}
