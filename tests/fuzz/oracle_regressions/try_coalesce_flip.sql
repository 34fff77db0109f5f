SELECT region, COUNT(DISTINCT household_id) FROM retail GROUP BY region ORDER BY COUNT(household_id) > 100 OR SUM(total) * 100000000000000000000 > 0, region
----
SELECT region, COUNT(DISTINCT household_id) FROM retail WHERE COALESCE(CAST(code AS INTEGER) > 5, household_size = 2) GROUP BY region
