//! Unified social credit codes (统一社会信用代码, GB 32100-2015).
//!
//! Layout of the 18 characters (1-based positions):
//!
//! | position | content |
//! | --- | --- |
//! | 1 | registration-authority code (登记管理部门代码) |
//! | 2 | organization-type code (机构类别代码) |
//! | 3–8 | administrative division code (登记管理机关行政区划码), six digits |
//! | 9–17 | organization code (主体标识码, GB 11714), whose position 17 is its own check character |
//! | 18 | check character over positions 1–17 |
//!
//! Positions 1 and 2 are only checked against the character set: the list of authority and type
//! codes has grown since 2015, and a stale list would reject real organizations.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The 31 characters a code may use, in code-value order (0–30): no I, O, S, V or Z.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights for positions 1–17 of the code check (3^(i-1) mod 31).
const CODE_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// Weights for the eight body characters of the GB 11714 organization code.
const ORGANIZATION_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A validated unified social credit code, stored in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnifiedSocialCreditCode(String);

/// What is wrong with a candidate unified social credit code. Positions are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// The code does not have 18 characters.
    #[error("a unified social credit code has 18 characters, found {found}")]
    Length {
        /// Number of characters found.
        found: usize,
    },
    /// A character is outside 0-9 and A-Z without I, O, S, V, Z.
    #[error(
        "character {character:?} at position {position} is not allowed (use 0-9 and A-Z except I, O, S, V, Z)"
    )]
    InvalidCharacter {
        /// 1-based position.
        position: usize,
        /// The character as given.
        character: char,
    },
    /// A character of the administrative division code (positions 3–8) is not a digit.
    #[error(
        "character {character:?} at position {position} must be a digit (positions 3-8 are the administrative division code)"
    )]
    DivisionCode {
        /// 1-based position.
        position: usize,
        /// The character as given (upper-cased).
        character: char,
    },
    /// Position 17 does not match the GB 11714 check over positions 9–16.
    #[error("organization code check character at position 17 is {found:?}, expected {expected:?}")]
    OrganizationCodeCheck {
        /// The character the check requires.
        expected: char,
        /// The character found.
        found: char,
    },
    /// Position 18 does not match the GB 32100 check over positions 1–17.
    #[error("check character at position 18 is {found:?}, expected {expected:?}")]
    CheckCharacter {
        /// The character the check requires.
        expected: char,
        /// The character found.
        found: char,
    },
}

// === impl UnifiedSocialCreditCode ===

impl UnifiedSocialCreditCode {
    /// Parses a code, accepting lower-case letters and returning it in upper case.
    ///
    /// Surrounding whitespace is not stripped: callers decide how forgiving their input is.
    pub fn parse(input: &str) -> Result<Self, UsccError> {
        let found = input.chars().count();
        if found != 18 {
            return Err(UsccError::Length { found });
        }
        let mut values = [0u32; 18];
        for (index, character) in input.chars().enumerate() {
            let position = index + 1;
            let upper = character.to_ascii_uppercase();
            let value = code_value(upper).ok_or(UsccError::InvalidCharacter { position, character })?;
            if (3..=8).contains(&position) && !upper.is_ascii_digit() {
                return Err(UsccError::DivisionCode {
                    position,
                    character: upper,
                });
            }
            values[index] = value;
        }
        let code = input.to_ascii_uppercase();
        let characters = code.as_bytes();

        let expected = organization_check_character(&characters[8..16]);
        let found = char::from(characters[16]);
        if found != expected {
            return Err(UsccError::OrganizationCodeCheck { expected, found });
        }

        let expected = code_check_character(&values[..17]);
        let found = char::from(characters[17]);
        if found != expected {
            return Err(UsccError::CheckCharacter { expected, found });
        }
        Ok(Self(code))
    }

    /// Returns the code as an upper-case string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the registration-authority code (position 1), e.g. `9` for market regulation.
    pub fn registration_authority(&self) -> char {
        self.character_at(0)
    }

    /// Returns the organization-type code (position 2).
    pub fn organization_type(&self) -> char {
        self.character_at(1)
    }

    /// Returns the administrative division code (positions 3–8).
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }

    /// Returns the GB 11714 organization code including its check character (positions 9–17).
    pub fn organization_code(&self) -> &str {
        &self.0[8..17]
    }

    fn character_at(&self, index: usize) -> char {
        // Parsing guarantees 18 ASCII characters, so byte indexes are character indexes.
        char::from(self.0.as_bytes()[index])
    }
}

impl fmt::Display for UnifiedSocialCreditCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for UnifiedSocialCreditCode {
    type Err = UsccError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<String> for UnifiedSocialCreditCode {
    type Error = UsccError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Self::parse(&input)
    }
}

impl From<UnifiedSocialCreditCode> for String {
    fn from(code: UnifiedSocialCreditCode) -> Self {
        code.0
    }
}

/// Returns the GB 32100 code value (0–30) of an upper-case character.
fn code_value(character: char) -> Option<u32> {
    let byte = u8::try_from(character).ok()?;
    let index = ALPHABET.iter().position(|&allowed| allowed == byte)?;
    u32::try_from(index).ok()
}

/// Returns the GB 32100 check character for the code values of positions 1–17:
/// C18 = 31 − (Σ value × weight mod 31), where 31 becomes 0.
fn code_check_character(values: &[u32]) -> char {
    let sum: u32 = values
        .iter()
        .zip(CODE_WEIGHTS)
        .map(|(value, weight)| value * weight)
        .sum();
    let check = (31 - sum % 31) % 31;
    char::from(ALPHABET[check as usize])
}

/// Returns the GB 11714 check character for the eight organization-code body characters:
/// C9 = 11 − (Σ value × weight mod 11), where 10 becomes `X` and 11 becomes `0`.
///
/// GB 11714 values letters over the whole alphabet (A = 10 … Z = 35), unlike GB 32100, which
/// skips I, O, S, V and Z; both checks must pass on real codes.
fn organization_check_character(body: &[u8]) -> char {
    let sum: u32 = body
        .iter()
        .zip(ORGANIZATION_WEIGHTS)
        .map(|(&byte, weight)| organization_value(byte) * weight)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        digit => char::from(b'0' + digit as u8),
    }
}

fn organization_value(byte: u8) -> u32 {
    match byte {
        b'0'..=b'9' => u32::from(byte - b'0'),
        // Parsing has already limited the body to digits and upper-case letters.
        _ => u32::from(byte - b'A') + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes a 16-character prefix (positions 1–16) with both check characters.
    fn complete(prefix: &str) -> String {
        let organization = organization_check_character(&prefix.as_bytes()[8..16]);
        let first17 = format!("{prefix}{organization}");
        let values: Vec<u32> = first17
            .chars()
            .map(|c| code_value(c).expect("valid character"))
            .collect();
        format!("{first17}{}", code_check_character(&values))
    }

    // Published codes listed as valid by python-stdnum (tests/test_cn_uscc.doctest, "found online");
    // each was confirmed here against both the GB 11714 and the GB 32100 check, which a random
    // string passes with probability 1/341.
    const PUBLISHED: [&str; 7] = [
        "91350100M000100Y43",
        "91110000600037341L",
        "91310000631696382C",
        "91440300568520498A",
        "9144030071526726XG",
        "91340600MA2PBM9HXD",
        "121200004013590816",
    ];

    #[test]
    fn parse_accepts_published_codes() {
        for code in PUBLISHED {
            let parsed = UnifiedSocialCreditCode::parse(code).expect(code);
            assert_eq!(parsed.as_str(), code);
        }
    }

    #[test]
    fn parse_exposes_the_code_parts() {
        let code = UnifiedSocialCreditCode::parse("91350100M000100Y43").expect("valid");
        assert_eq!(code.registration_authority(), '9');
        assert_eq!(code.organization_type(), '1');
        assert_eq!(code.division_code(), "350100");
        assert_eq!(code.organization_code(), "M000100Y4");
    }

    #[test]
    fn parse_accepts_generated_codes_round_trip() {
        for prefix in [
            "9141010000000000",
            "12410000MB0XYYQ1",
            "Y1530100ABCDEFGH",
            "5153010012345678",
        ] {
            let code = complete(prefix);
            let parsed = UnifiedSocialCreditCode::parse(&code).expect(&code);
            assert_eq!(parsed.to_string(), code);
            assert_eq!(code.parse::<UnifiedSocialCreditCode>(), Ok(parsed));
        }
    }

    #[test]
    fn parse_normalizes_lower_case() {
        let code = UnifiedSocialCreditCode::parse("91340600ma2pbm9hxd").expect("valid");
        assert_eq!(code.as_str(), "91340600MA2PBM9HXD");
    }

    #[test]
    fn parse_rejects_every_single_character_change() {
        for code in PUBLISHED {
            for index in 0..18 {
                for &replacement in ALPHABET {
                    let mut mutated = code.as_bytes().to_vec();
                    if mutated[index] == replacement {
                        continue;
                    }
                    mutated[index] = replacement;
                    let mutated = String::from_utf8(mutated).expect("ascii");
                    assert!(
                        UnifiedSocialCreditCode::parse(&mutated).is_err(),
                        "{mutated} was accepted"
                    );
                }
            }
        }
    }

    #[test]
    fn parse_names_what_is_wrong() {
        let cases = [
            ("9135010", UsccError::Length { found: 7 }),
            ("91350100M000100Y431", UsccError::Length { found: 19 }),
            (
                "91350100M000100O43",
                UsccError::InvalidCharacter {
                    position: 16,
                    character: 'O',
                },
            ),
            (
                "91350100M000100Y4３",
                UsccError::InvalidCharacter {
                    position: 18,
                    character: '３',
                },
            ),
            (
                "913501A0M000100Y43",
                UsccError::DivisionCode {
                    position: 7,
                    character: 'A',
                },
            ),
            (
                "91350100M000100Y53",
                UsccError::OrganizationCodeCheck {
                    expected: '4',
                    found: '5',
                },
            ),
            (
                "91350100M000100Y4X",
                UsccError::CheckCharacter {
                    expected: '3',
                    found: 'X',
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(UnifiedSocialCreditCode::parse(input), Err(expected), "{input}");
        }
    }

    #[test]
    fn error_messages_say_what_to_fix() {
        let error = UnifiedSocialCreditCode::parse("9144030071526726XA").expect_err("bad check");
        assert_eq!(
            error.to_string(),
            "check character at position 18 is 'A', expected 'G'"
        );
        let error = UnifiedSocialCreditCode::parse("914403007152672615").expect_err("bad org check");
        assert_eq!(
            error.to_string(),
            "organization code check character at position 17 is '1', expected 'X'"
        );
    }

    #[test]
    fn code_round_trips_through_serde_as_a_string() {
        let code = UnifiedSocialCreditCode::parse("91110000600037341L").expect("valid");
        let json = serde_json::to_string(&code).expect("serialize");
        assert_eq!(json, "\"91110000600037341L\"");
        let error =
            serde_json::from_str::<UnifiedSocialCreditCode>("\"91110000600037341N\"").expect_err("bad");
        assert!(error.to_string().contains("position 18"), "{error}");
    }
}
