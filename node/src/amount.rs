//! Token amounts as the `spl-token` CLI writes them: a raw `u64` of base
//! units shown with the mint's decimals ("1.5", "0.000005", "2"), and read
//! back from that text. Integers only: a float would round large amounts.

use gradual_interface::{state::Task, Address};

/// `raw` base units with `decimals` decimals: at least one digit before the
/// point, and no trailing zeros or point after it (1_500_000 at 6 is "1.5").
pub fn format(raw: u64, decimals: u8) -> String {
    let places = usize::from(decimals);
    let digits = format!("{raw:0>width$}", width = places.saturating_add(1));
    let (whole, fraction) = digits.split_at(digits.len().saturating_sub(places));
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// Reads `text`, an amount in whole units with up to `decimals` fractional
/// digits ("1.5", "2", ".25", "3."), as base units. The error is one line.
pub fn parse(text: &str, decimals: u8) -> Result<u64, String> {
    if text.is_empty() {
        return Err("the amount is empty".into());
    }
    if text.starts_with('-') {
        return Err(format!("amount {text:?} is negative"));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let is_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if !is_digits(whole) || !is_digits(fraction) || (whole.is_empty() && fraction.is_empty()) {
        return Err(format!("amount {text:?} is not a number such as 1.5"));
    }
    let places = usize::from(decimals);
    if fraction.len() > places {
        return Err(if decimals == 0 {
            format!("amount {text:?} has a fraction; this amount is in whole units")
        } else {
            format!("amount {text:?} has more than {decimals} decimal places")
        });
    }
    // The whole part, then the fraction padded to `decimals` digits: the base units.
    let digits = format!("{whole}{fraction:0<places$}");
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    significant.parse::<u64>().map_err(|_| {
        format!(
            "amount {text:?} is too large: at most {} with {decimals} decimals",
            format(u64::MAX, decimals)
        )
    })
}

/// What a task's amounts are counted in: lamports, or a mint's base units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asset {
    Lamports,
    Token { mint: Address, decimals: u8 },
}

impl Asset {
    /// What `task`'s bounty is paid in.
    pub fn of_bounty(task: &Task) -> Self {
        if task.pays_in_tokens() {
            Self::Token { mint: Address::new_from_array(task.mint), decimals: task.decimals }
        } else {
            Self::Lamports
        }
    }

    /// What `task`'s nodes stake.
    pub fn of_stake(task: &Task) -> Self {
        if task.stakes_in_tokens() {
            Self::of_bounty(task)
        } else {
            Self::Lamports
        }
    }

    /// Decimals of the text amounts: none for lamports, which are whole.
    pub fn decimals(&self) -> u8 {
        match self {
            Self::Lamports => 0,
            Self::Token { decimals, .. } => *decimals,
        }
    }

    pub fn is_token(&self) -> bool {
        matches!(self, Self::Token { .. })
    }

    /// Reads an amount as the user writes it: whole lamports, or the mint's units.
    pub fn parse(&self, text: &str) -> Result<u64, String> {
        parse(text, self.decimals())
    }

    /// `raw` as the user reads it: lamports as they are, tokens in the mint's units.
    pub fn format(&self, raw: u64) -> String {
        format(raw, self.decimals())
    }

    /// The asset's name: "lamports", or the mint's address.
    pub fn unit(&self) -> String {
        match self {
            Self::Lamports => "lamports".into(),
            Self::Token { mint, .. } => mint.to_string(),
        }
    }

    /// `raw` with its unit, for text output: "1.5 <mint>" or "5000 lamports".
    pub fn display(&self, raw: u64) -> String {
        format!("{} {}", self.format(raw), self.unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_spl_token() {
        assert_eq!(format(1_500_000, 6), "1.5");
        assert_eq!(format(5, 6), "0.000005");
        assert_eq!(format(2_000_000, 6), "2");
        assert_eq!(format(0, 6), "0");
        assert_eq!(format(0, 0), "0");
        assert_eq!(format(42, 0), "42");
        assert_eq!(format(120, 2), "1.2");
        assert_eq!(format(u64::MAX, 9), "18446744073.709551615");
        assert_eq!(format(u64::MAX, 0), "18446744073709551615");
        assert_eq!(format(1, 25), "0.0000000000000000000000001");
        assert_eq!(format(10, 1), "1");
    }

    #[test]
    fn parses_whole_and_fractional_amounts() {
        assert_eq!(parse("1.5", 6), Ok(1_500_000));
        assert_eq!(parse("2", 6), Ok(2_000_000));
        assert_eq!(parse("0.000005", 6), Ok(5));
        assert_eq!(parse(".25", 2), Ok(25));
        assert_eq!(parse("3.", 2), Ok(300));
        assert_eq!(parse("007", 0), Ok(7));
        assert_eq!(parse("0", 9), Ok(0));
        assert_eq!(parse("18446744073709551615", 0), Ok(u64::MAX));
        assert_eq!(parse("18446744073.709551615", 9), Ok(u64::MAX));
        assert_eq!(parse("0.0000000000000000000000001", 25), Ok(1));
    }

    #[test]
    fn refuses_bad_amounts_in_one_line() {
        for (text, decimals, why) in [
            ("", 6, "empty"),
            ("-1", 6, "negative"),
            ("1.2345678", 6, "more than 6 decimal places"),
            ("1.5", 0, "whole units"),
            ("18446744073709551616", 0, "too large"),
            ("18446744073.709551616", 9, "too large"),
            ("1e3", 6, "not a number"),
            (".", 6, "not a number"),
            ("1.2.3", 6, "not a number"),
            (" 1", 6, "not a number"),
            ("+1", 6, "not a number"),
            ("1,5", 6, "not a number"),
        ] {
            let error = parse(text, decimals).expect_err(text);
            assert!(error.contains(why), "{text:?}: {error}");
            assert_eq!(error.lines().count(), 1, "{error}");
        }
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_the_amount_back(raw in any::<u64>(), decimals in 0u8..=30) {
            prop_assert_eq!(parse(&format(raw, decimals), decimals), Ok(raw));
        }

        #[test]
        fn parsing_then_formatting_gives_the_canonical_text(whole in 0u64..1_000_000, fraction in 0u64..1_000_000) {
            let text = format!("{whole}.{fraction:06}");
            let raw = parse(&text, 6).expect("fits");
            let canonical = text.trim_end_matches('0').trim_end_matches('.');
            prop_assert_eq!(format(raw, 6), canonical);
        }
    }
}
