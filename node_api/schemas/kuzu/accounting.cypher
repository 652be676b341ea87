// Accounting extension of the entity schema: chart of accounts and the general ledger.
CREATE NODE TABLE Account(identifier STRING, code STRING, name STRING, classification STRING,
    sub_classification STRING, balance_type STRING, currency STRING, is_active BOOLEAN,
    PRIMARY KEY(identifier));
CREATE NODE TABLE Transaction(identifier STRING, date DATE, description STRING, reference STRING,
    amount DECIMAL(18, 2), currency STRING, status STRING, PRIMARY KEY(identifier));
CREATE NODE TABLE LineItem(identifier STRING, debit_amount DECIMAL(18, 2), credit_amount DECIMAL(18, 2),
    memo STRING, PRIMARY KEY(identifier));
CREATE REL TABLE ENTITY_HAS_ACCOUNT(FROM Entity TO Account);
CREATE REL TABLE ACCOUNT_HAS_PARENT(FROM Account TO Account);
CREATE REL TABLE ENTITY_HAS_TRANSACTION(FROM Entity TO Transaction);
CREATE REL TABLE TRANSACTION_HAS_LINE_ITEM(FROM Transaction TO LineItem);
CREATE REL TABLE LINE_ITEM_RELATES_TO_ACCOUNT(FROM LineItem TO Account);
CREATE REL TABLE ACCOUNT_MAPS_TO_ELEMENT(FROM Account TO Element);
