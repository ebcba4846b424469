use super::*;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test dates are valid")
}

fn firm(text: &str) -> Deadline {
    Deadline {
        due: date(text),
        provisional: false,
    }
}

fn provisional(text: &str) -> Deadline {
    Deadline {
        due: date(text),
        provisional: true,
    }
}

#[test]
fn builtin_calendar_loads() {
    let calendar = Calendar::builtin();
    assert_eq!(calendar.years().collect::<Vec<_>>(), [2025, 2026]);
    assert_eq!(calendar.last_year(), Some(2026));
}

#[test]
fn is_working_day_follows_holidays_and_make_up_days() {
    let calendar = Calendar::builtin();
    let cases = [
        // N5: 2025-01-26 (Sun) is a make-up working day for the Spring Festival.
        ("2025-01-26", true),
        // N5: Spring Festival 01-28 (Tue) to 02-04 (Tue).
        ("2025-01-28", false),
        ("2025-02-04", false),
        // N5: 2025-02-08 (Sat) is a make-up working day.
        ("2025-02-08", true),
        // An ordinary Saturday.
        ("2025-02-15", false),
        // An ordinary Wednesday.
        ("2025-03-05", true),
        // N6: 2026-10-10 (Sat) is a make-up working day; 10-07 (Wed) is still National Day.
        ("2026-10-10", true),
        ("2026-10-07", false),
        // Outside the loaded years only the weekday rule applies: 2027-01-01 is a Friday.
        ("2027-01-01", true),
        ("2027-01-02", false),
    ];
    for (day, expected) in cases {
        assert_eq!(calendar.is_working_day(date(day)), expected, "{day}");
    }
}

#[test]
fn add_working_days_matches_the_worked_dates() {
    let calendar = Calendar::builtin();
    let cases = [
        // N3 Art.9 (D2): operations running before N3 register within 30 WD of 2025-03-01 (DOMAIN §10).
        ("2025-03-01", 30, firm("2025-04-14")),
        // N3 Art.10 (D3): accepted within 3 WD of receipt on Mon 2025-09-22.
        ("2025-09-22", 3, firm("2025-09-25")),
        // N3 Art.11 (D4): formal review 20 WD from acceptance, across National Day; 09-28 (Sun) and
        // 10-11 (Sat) are make-up working days and count.
        ("2025-09-25", 20, firm("2025-10-29")),
        // N3 Art.12 (D5): public notice 10 WD.
        ("2025-10-29", 10, firm("2025-11-12")),
        // S-LY §三(三)3 (D16): agreement filing 10 WD after signing on 2026-02-10; 02-14 and 02-28
        // (Sat) count, 02-15 to 02-23 do not.
        ("2026-02-10", 10, firm("2026-03-02")),
        // N5 Spring Festival crossing: 01-26 (Sun, make-up) counts, 01-28 to 02-04 do not.
        ("2025-01-24", 5, firm("2025-02-07")),
        // N5 make-up Saturday 2025-02-08 is the next working day after Fri 02-07.
        ("2025-02-07", 1, firm("2025-02-08")),
        // N5: the next working day after Fri 2025-09-26 is the make-up Sunday 09-28.
        ("2025-09-26", 1, firm("2025-09-28")),
        // N6: the next working day after Fri 2026-02-13 is the make-up Saturday 02-14.
        ("2026-02-13", 1, firm("2026-02-14")),
        // N6 National Day 10-01 to 10-07 with make-up Saturday 10-10.
        ("2026-09-30", 7, firm("2026-10-15")),
        // No 2027 notice exists (DOMAIN §10): weekdays only, flagged provisional (ARCHITECTURE).
        ("2026-12-20", 20, provisional("2027-01-15")),
        // A deadline that stays inside the loaded years is firm even close to the edge.
        ("2026-12-01", 10, firm("2026-12-15")),
        // Zero working days is the trigger day itself.
        ("2025-10-01", 0, firm("2025-10-01")),
    ];
    for (start, count, expected) in cases {
        assert_eq!(
            calendar.add_working_days(date(start), count),
            expected,
            "{start} + {count}WD"
        );
    }
}

#[test]
fn add_working_days_before_the_loaded_years_is_provisional() {
    // 2024 is not loaded, so 2024-12-31 is judged on weekdays alone.
    let calendar = Calendar::builtin();
    assert_eq!(
        calendar.add_working_days(date("2024-12-30"), 1),
        provisional("2024-12-31")
    );
    // 2025-01-01 is a holiday (N5); the count lands on 01-03 but passed an unloaded day.
    assert_eq!(
        calendar.add_working_days(date("2024-12-30"), 3),
        provisional("2025-01-03")
    );
}

#[test]
fn add_working_days_far_beyond_the_calendar_uses_weekday_arithmetic() {
    let calendar = Calendar::builtin();
    // 2027-01-01 is a Friday; 5 weekdays after it is the next Friday. 2027 has 261 weekdays, 260
    // of them after Jan 1, so 260 WD lands on Fri 2027-12-31.
    assert_eq!(
        calendar.add_working_days(date("2027-01-01"), 5),
        provisional("2027-01-08")
    );
    assert_eq!(
        calendar.add_working_days(date("2027-01-01"), 260),
        provisional("2027-12-31")
    );
    // A Saturday start behaves like the Friday before it.
    assert_eq!(
        calendar.add_working_days(date("2027-01-02"), 1),
        provisional("2027-01-04")
    );
    // Absurd counts finish quickly instead of looping for billions of days.
    let far = calendar.add_working_days(date("2027-01-01"), u32::MAX);
    assert!(far.provisional);
    assert!(far.due > date("9999-12-31"));
}

#[test]
fn add_working_days_agrees_with_day_by_day_counting_beyond_the_calendar() {
    let calendar = Calendar::builtin();
    for start_offset in 0..14 {
        let start = date("2026-12-24") + Days::new(start_offset);
        for count in 0..40 {
            let mut cursor = start;
            let mut remaining = count;
            while remaining > 0 {
                cursor = cursor.succ_opt().expect("in range");
                if calendar.is_working_day(cursor) {
                    remaining -= 1;
                }
            }
            assert_eq!(
                calendar.add_working_days(start, count).due,
                cursor,
                "{start} + {count}WD"
            );
        }
    }
}

#[test]
fn add_calendar_days_moves_a_day_off_to_the_next_working_day() {
    let calendar = Calendar::builtin();
    let cases = [
        // S-YN Art.26 (D23): rectify within 30 days; 2025-10-05 is National Day (N5), and 10-08 is
        // still a holiday, so the period ends on Thu 10-09.
        ("2025-09-05", 30, firm("2025-10-09")),
        // 《民法典》 Art.203 reading: a period ending on an ordinary Sunday ends on Monday.
        ("2025-03-02", 7, firm("2025-03-10")),
        // A period ending on a make-up Saturday (N6 2026-02-28) is not moved.
        ("2026-02-18", 10, firm("2026-02-28")),
        // A period ending on a working day is not moved.
        ("2025-03-03", 30, firm("2025-04-02")),
        // Ending in 2027 (not loaded): weekday rule, flagged provisional.
        ("2026-12-20", 30, provisional("2027-01-19")),
    ];
    for (start, count, expected) in cases {
        assert_eq!(
            calendar.add_calendar_days(date(start), count),
            expected,
            "{start} + {count}CD"
        );
    }
}

#[test]
fn add_months_clamps_to_month_end_and_moves_days_off() {
    let calendar = Calendar::builtin();
    let cases = [
        // Month-end clamping (《民法典》 Art.202 reading): Jan 31 + 1M = Feb 28 (Fri) in 2025.
        ("2025-01-31", 1, firm("2025-02-28")),
        // S-HB §五(六) (D15): filing 1 M after approval on 2025-12-31 ends Sat 2026-01-31, moved to Mon 02-02.
        ("2025-12-31", 1, firm("2026-02-02")),
        // Jan 31 2026 + 1M = Feb 28 2026, a make-up Saturday (N6), so it is not moved.
        ("2026-01-31", 1, firm("2026-02-28")),
        // S-HB §五(六) across National Day: 2025-09-03 + 1M = 2025-10-03 (holiday) → Thu 10-09.
        ("2025-09-03", 1, firm("2025-10-09")),
        // Leap year clamping: Jan 31 2028 + 1M = Feb 29 2028 (Tue), provisional because 2028 is not loaded.
        ("2028-01-31", 1, provisional("2028-02-29")),
    ];
    for (start, count, expected) in cases {
        assert_eq!(
            calendar.add_months(date(start), count),
            expected,
            "{start} + {count}M"
        );
    }
}

#[test]
fn due_after_dispatches_on_the_period_unit() {
    let calendar = Calendar::builtin();
    let start = date("2025-09-22");
    let cases = [
        // N3 Art.10 (D3): 3 WD.
        (Period::WorkingDays(3), firm("2025-09-25")),
        // 10 calendar days lands on Thu 2025-10-02, inside National Day (N5) → Thu 10-09.
        (Period::CalendarDays(10), firm("2025-10-09")),
        // 1 month lands on Wed 2025-10-22, a working day.
        (Period::Months(1), firm("2025-10-22")),
        // N3 Art.15 (D7): 3 years of validity end in 2028, which is not loaded.
        (Period::Years(3), provisional("2028-09-22")),
    ];
    for (period, expected) in cases {
        assert_eq!(calendar.due_after(start, period), expected, "{period}");
    }
}

#[test]
fn window_openings_are_not_moved_to_working_days() {
    let calendar = Calendar::builtin();
    // N3 Art.15 (D8): renewal "期满前60日内"; expiry 2026-12-04 opens the window on Sun 10-05, a holiday.
    assert_eq!(
        calendar.opens_before(date("2026-12-04"), Period::CalendarDays(60)),
        firm("2026-10-05")
    );
    assert_eq!(days_before(date("2026-12-04"), 60), date("2026-10-05"));
    // S-LY §二(二) (D18): "期限届满前3个月内"; May 31 minus 3 months clamps to Feb 28.
    assert_eq!(
        calendar.opens_before(date("2026-05-31"), Period::Months(3)),
        firm("2026-02-28")
    );
    assert_eq!(months_before(date("2028-05-31"), 3), date("2028-02-29"));
    assert_eq!(
        calendar.opens_before(date("2029-03-15"), Period::Years(1)),
        firm("2028-03-15")
    );
    // A working-day opening counts back over holidays: 3 WD before Thu 2025-10-09 skips National Day
    // (N5) and counts 09-30, 09-29 and the make-up Sunday 09-28.
    assert_eq!(
        calendar.opens_before(date("2025-10-09"), Period::WorkingDays(3)),
        firm("2025-09-28")
    );
    // Counting back out of the loaded years is provisional.
    assert_eq!(
        calendar.opens_before(date("2025-01-03"), Period::WorkingDays(3)),
        provisional("2024-12-30")
    );
}

#[test]
fn from_path_reads_an_extended_calendar_and_names_the_file_on_errors() {
    let dir = std::env::temp_dir().join(format!("pdop-rules-calendar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let good = dir.join("extended.json");
    // A made-up 2027 entry: New Year's Day off, so the provisional flag disappears.
    std::fs::write(
        &good,
        r#"{"2026": {"holidays": []}, "2027": {"holidays": ["2027-01-01"], "workdays": []}}"#,
    )
    .expect("write calendar");
    let calendar = Calendar::from_path(&good).expect("valid calendar");
    assert_eq!(
        calendar.add_working_days(date("2026-12-31"), 1),
        firm("2027-01-04")
    );

    let bad = dir.join("broken.json");
    std::fs::write(&bad, r#"{"2027": {"holidays": ["2027-13-01"]}}"#).expect("write calendar");
    let message = Calendar::from_path(&bad).expect_err("invalid date").to_string();
    assert!(message.contains("broken.json"), "{message}");
    assert!(message.contains("\"2027-13-01\""), "{message}");

    let missing = Calendar::from_path(dir.join("missing.json")).expect_err("no such file");
    assert!(matches!(missing, CalendarError::Io { .. }), "{missing}");
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

#[test]
fn deadline_display_marks_provisional_dates() {
    assert_eq!(firm("2025-04-14").to_string(), "2025-04-14");
    assert_eq!(provisional("2027-01-15").to_string(), "2027-01-15 (provisional)");
}
