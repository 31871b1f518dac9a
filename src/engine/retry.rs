//! Back-off between attempts of an item: the program's one rule, shared with the backends'
//! own retries (see `backends::common::backoff` for why it lives there).

pub use crate::backends::common::backoff::backoff;
