SELECT r.score, ROUND(AVG(r.online_spend), 2), AVG(r.total) FROM retail r WHERE (NOT (NOT (r.household_size < 5000)) OR 0.1234567890123456789012345 >= '12') GROUP BY 1
