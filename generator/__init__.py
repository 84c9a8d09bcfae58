"""valgen: validation documentation for 21 CFR Part 11 records systems on Amazon S3."""
