//! How every backend names a message's sender for the message log.

/// The sender as the message log records it: the From address, or, for a From with a display
/// name and no address (`From: "PayPal Security"`, common in phishing), that name in double
/// quotes so it can never be mistaken for an address; `""` when From has neither. The message
/// stays in the log and `from:` finds it by the name's words.
pub fn logged_sender(address: &str, display_name: &str) -> String {
    if address.is_empty() {
        format!("\"{}\"", display_name.trim().replace('"', "'"))
    } else {
        address.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::logged_sender;

    #[test]
    fn an_address_wins_and_a_bare_name_is_quoted_so_it_is_never_an_address() {
        assert_eq!(logged_sender("a@x.test", "Alice"), "a@x.test");
        assert_eq!(
            logged_sender("", " PayPal \"Security\" "),
            "\"PayPal 'Security'\""
        );
        assert_eq!(logged_sender("", ""), "\"\"");
    }
}
