// XBRL reporting core, shared by the entity and shared (repository) schemas.
CREATE NODE TABLE Entity(identifier STRING, name STRING, legal_name STRING, cik STRING, ticker STRING,
    lei STRING, entity_type STRING, sic STRING, sic_description STRING, fiscal_year_end STRING,
    state_of_incorporation STRING, website STRING, status STRING, created_at TIMESTAMP, updated_at TIMESTAMP,
    PRIMARY KEY(identifier));
CREATE NODE TABLE Report(identifier STRING, name STRING, form STRING, accession_number STRING,
    filing_date DATE, report_date DATE, period_end_date DATE, fiscal_year INT64, fiscal_period STRING,
    is_amendment BOOLEAN, source_url STRING, PRIMARY KEY(identifier));
CREATE NODE TABLE Element(identifier STRING, qname STRING, name STRING, namespace STRING, period_type STRING,
    balance STRING, data_type STRING, substitution_group STRING, is_abstract BOOLEAN, is_numeric BOOLEAN,
    PRIMARY KEY(identifier));
CREATE NODE TABLE Period(identifier STRING, period_type STRING, start_date DATE, end_date DATE,
    instant_date DATE, fiscal_year INT64, fiscal_quarter STRING, PRIMARY KEY(identifier));
CREATE NODE TABLE Unit(identifier STRING, measure STRING, numerator STRING, denominator STRING,
    PRIMARY KEY(identifier));
CREATE NODE TABLE Fact(identifier STRING, value STRING, numeric_value DOUBLE, decimals INT64,
    fact_type STRING, context_id STRING, PRIMARY KEY(identifier));
CREATE NODE TABLE Dimension(identifier STRING, axis STRING, member STRING, is_typed BOOLEAN,
    PRIMARY KEY(identifier));
CREATE REL TABLE ENTITY_HAS_REPORT(FROM Entity TO Report);
CREATE REL TABLE REPORT_HAS_FACT(FROM Report TO Fact);
CREATE REL TABLE FACT_HAS_ELEMENT(FROM Fact TO Element);
CREATE REL TABLE FACT_HAS_PERIOD(FROM Fact TO Period);
CREATE REL TABLE FACT_HAS_UNIT(FROM Fact TO Unit);
CREATE REL TABLE FACT_HAS_ENTITY(FROM Fact TO Entity);
CREATE REL TABLE FACT_HAS_DIMENSION(FROM Fact TO Dimension);
CREATE REL TABLE ELEMENT_HAS_PARENT(FROM Element TO Element, weight DOUBLE, arcrole STRING, ord DOUBLE);
