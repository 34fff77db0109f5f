SELECT age_band, COUNT(DISTINCT household_id) FROM retail WHERE level < 6583 OR (signup_date + 1) = DATE '2015,06-30' GROUP BY age_band
