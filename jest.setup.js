// Tests read outcomes, not log lines: keep the lab's middleware quiet unless a test captures its log.
process.env.LAB_LOG_LEVEL = process.env.LAB_LOG_LEVEL || 'silent';
