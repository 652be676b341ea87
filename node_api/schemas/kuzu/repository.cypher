// Shared repository extension (public data such as SEC filings): taxonomies and filers.
CREATE NODE TABLE Taxonomy(identifier STRING, name STRING, namespace STRING, version STRING,
    PRIMARY KEY(identifier));
CREATE NODE TABLE Industry(identifier STRING, sic STRING, name STRING, sector STRING, PRIMARY KEY(identifier));
CREATE REL TABLE ELEMENT_IN_TAXONOMY(FROM Element TO Taxonomy);
CREATE REL TABLE ENTITY_IN_INDUSTRY(FROM Entity TO Industry);
CREATE REL TABLE REPORT_USES_TAXONOMY(FROM Report TO Taxonomy);
