//! Integer arithmetic the BPF backend can lower. LLVM turns `u64::checked_mul`
//! (and any overflow test it recognises as one) into a 128-bit multiply
//! (`__multi3`) that the SBF route here cannot link, so the product is built
//! from 32-bit halves, each of which fits in a `u64`.

const LOW: u64 = 0xffff_ffff;

/// `a * b`, or `None` on overflow.
pub fn checked_mul(a: u64, b: u64) -> Option<u64> {
    let (a_high, a_low) = (a >> 32, a & LOW);
    let (b_high, b_low) = (b >> 32, b & LOW);
    if a_high != 0 && b_high != 0 {
        return None;
    }
    // At most one of the two cross terms is non-zero; each factor is below 2^32.
    let cross = a_high.wrapping_mul(b_low) | a_low.wrapping_mul(b_high);
    if cross > LOW {
        return None;
    }
    (cross << 32).checked_add(a_low.wrapping_mul(b_low))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_checked_mul() {
        let samples = [0, 1, 2, 3, 7, 1 << 31, 1 << 32, (1 << 32) + 1, u64::MAX / 2, u64::MAX - 1, u64::MAX];
        for a in samples {
            for b in samples {
                assert_eq!(checked_mul(a, b), a.checked_mul(b), "{a} * {b}");
            }
        }
    }
}
