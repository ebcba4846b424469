//! Resident identity numbers (公民身份号码, GB 11643-1999).
//!
//! Eighteen characters: a six-digit address code, the birth date as `YYYYMMDD`, a three-digit sequence and a check
//! character computed over the first seventeen by ISO 7064 MOD 11-2, where the value 10 is written `X`.

use chrono::NaiveDate;

/// Weights of positions 1–17 (2^(18-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for each value of the weighted sum mod 11.
const CHECK: &[u8; 11] = b"10X98765432";

/// What is wrong with a candidate resident identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    #[error("a resident identity number has 18 characters")]
    Length,
    #[error("the first 17 characters of a resident identity number are digits, the last a digit or X")]
    Character,
    #[error("positions 7-14 of a resident identity number are not a valid birth date")]
    BirthDate,
    #[error("the check character of the resident identity number does not match (GB 11643)")]
    CheckCharacter,
}

/// The check character of the first seventeen digits (ISO 7064 MOD 11-2).
fn check_character(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// Verifies an 18-character resident identity number (a lower-case `x` is accepted for the check character).
pub fn verify(number: &str) -> Result<(), ResidentIdError> {
    let bytes = number.as_bytes();
    if bytes.len() != 18 {
        return Err(ResidentIdError::Length);
    }
    let (body, last) = bytes.split_at(17);
    let last = last[0].to_ascii_uppercase();
    if !body.iter().all(u8::is_ascii_digit) || !(last.is_ascii_digit() || last == b'X') {
        return Err(ResidentIdError::Character);
    }
    // Digits only from here, so the slice is valid UTF-8.
    let birth = std::str::from_utf8(&body[6..14]).map_err(|_| ResidentIdError::Character)?;
    NaiveDate::parse_from_str(birth, "%Y%m%d").map_err(|_| ResidentIdError::BirthDate)?;
    if check_character(body) != last {
        return Err(ResidentIdError::CheckCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_their_gb_11643_check_character_pass() {
        // The example of GB 11643-1999 Annex A, and numbers whose check value is 10 (X) and 0.
        assert_eq!(verify("11010519491231002X"), Ok(()));
        assert_eq!(verify("11010519491231002x"), Ok(()));
        assert_eq!(verify("110101199003074514"), Ok(()));
        assert_eq!(verify("530102199001011231"), Ok(()));
    }

    #[test]
    fn a_wrong_check_character_length_character_or_date_is_refused() {
        assert_eq!(verify("530102199001011234"), Err(ResidentIdError::CheckCharacter));
        assert_eq!(verify("110105194912310021"), Err(ResidentIdError::CheckCharacter));
        assert_eq!(verify("000000"), Err(ResidentIdError::Length));
        assert_eq!(verify("11010519491231002Y"), Err(ResidentIdError::Character));
        assert_eq!(verify("1101051949123100２X"), Err(ResidentIdError::Length));
        assert_eq!(verify("110105194902300021"), Err(ResidentIdError::BirthDate));
    }
}
