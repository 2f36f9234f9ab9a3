use super::{digest_matches, Judgement, Submitted, Task, WorkContext};

/// The node stores "Hello, World!" and auditors check exactly that.
pub struct Hello;

pub const HELLO: &[u8] = b"Hello, World!";

impl Task for Hello {
    fn work(&self, _context: &WorkContext) -> Result<Vec<u8>, String> {
        Ok(HELLO.to_vec())
    }

    fn audit(&self, _round: u64, submitted: &Submitted, result: &[u8]) -> Judgement {
        if result != HELLO {
            Judgement::Invalid("the result is not \"Hello, World!\"".into())
        } else if !digest_matches(submitted, result) {
            Judgement::Invalid("the digest is not sha256(result)".into())
        } else {
            Judgement::Valid
        }
    }
}
