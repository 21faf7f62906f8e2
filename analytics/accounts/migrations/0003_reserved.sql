-- Number 0003 belongs to a change made on another branch at the same time as
-- 0004 (goals). This placeholder keeps the numbers without gaps on this branch;
-- when the branches meet, that branch's 0003 replaces this file.
SELECT 1;
