//! Pure domain rules shared by the pdop services.
//!
//! - [`calendar`]: the State Council working-day calendar (工作日, 调休) and deadline arithmetic,
//!   with deadlines beyond the loaded years flagged provisional.
//! - [`deadlines`]: a profile's period turned into a deadline citing its rule, and terms' last days.
//! - [`money`]: exact CNY amounts and rates, bounded at parse, with arithmetic that reports overflow.
//! - [`profiles`]: jurisdiction rule profiles (national, Henan, Hubei, Yunnan, Laiyuan, Zhengzhou)
//!   as data, every value citing the provision it comes from.
//! - [`resident_id`]: resident identity numbers (公民身份号码, GB 11643-1999) and their check character.
//! - [`uscc`]: unified social credit codes (统一社会信用代码, GB 32100-2015, with the GB 11714
//!   organization-code check).
//!
//! The crate does no I/O apart from the explicit `from_path` / `load_dir` loaders; the default
//! calendar and profiles are embedded at compile time. Sources are cited with the ids of
//! `DOMAIN.md` (N1–N6 national texts, S-HN/S-HB/S-YN/S-LY/S-ZZ seeds).
//!
//! A deadline comes from a profile's period and the calendar:
//!
//! ```
//! use chrono::NaiveDate;
//! use pdop_rules::{Calendar, Profiles};
//!
//! let calendar = Calendar::builtin();
//! let profiles = Profiles::builtin();
//! let laiyuan = profiles.get("laiyuan").expect("a builtin profile");
//! let filing = laiyuan.agreement.filing_deadline.as_ref().expect("Laiyuan sets a filing deadline");
//! assert_eq!(filing.value.to_string(), "10WD");
//! assert!(filing.source.starts_with("S-LY §三(三)3"));
//!
//! let signed = NaiveDate::from_ymd_opt(2026, 2, 10).expect("a valid date");
//! let deadline = calendar.due_after(signed, filing.value);
//! assert_eq!(deadline.due, NaiveDate::from_ymd_opt(2026, 3, 2).expect("a valid date"));
//! assert!(!deadline.provisional);
//! ```

pub mod calendar;
pub mod deadlines;
pub mod money;
pub mod profiles;
pub mod resident_id;
pub mod uscc;

pub use self::calendar::{Calendar, CalendarError, Deadline, ParsePeriodError, Period};
pub use self::deadlines::CitedDeadline;
pub use self::money::{Cny, MoneyError};
pub use self::profiles::{Profile, ProfileError, Profiles, Sourced};
pub use self::uscc::{UnifiedSocialCreditCode, UsccError};
