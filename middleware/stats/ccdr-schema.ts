/**
 * The db_cra stand-in (Cisco UCCX Database Schema Guide 12.5(1)): the call-record tables with every column that guide documents
 * (contactcalldetail, contactqueuedetail, contactroutingdetail, agentconnectiondetail, contactservicequeue,
 * resource, agentstatedetail), UCCX's names in lower case, so a CCDR export loads as it is.
 * DATETIME columns hold UTC text `YYYY-MM-DD HH:MM:SS.fff`, booleans 't'/'f', as an Informix export gives them —
 * so a CCDR export loaded here yields the same reports as the live database.
 * The real-time snapshot's two tables (rtcsqssummary, rticdstatistics) have every column the guide documents
 * (conformance/uccx/cisco-docs/); UCCX writes them every Data Writing Interval, the lab's stand-in writer likewise.
 */
export const CCDR_SCHEMA = `
CREATE TABLE IF NOT EXISTS contactcalldetail (
  sessionid DECIMAL(18,0) NOT NULL, sessionseqnum SMALLINT NOT NULL, nodeid SMALLINT NOT NULL, profileid INT NOT NULL,
  contacttype SMALLINT NOT NULL, contactdisposition SMALLINT NOT NULL, dispositionreason VARCHAR(100),
  originatortype SMALLINT NOT NULL, originatorid INT, originatordn VARCHAR(30),
  destinationtype SMALLINT, destinationid INT, destinationdn VARCHAR(30),
  startdatetime TEXT NOT NULL, enddatetime TEXT NOT NULL, gmtoffset SMALLINT NOT NULL DEFAULT 0,
  callednumber VARCHAR(30), origcallednumber VARCHAR(30), applicationtaskid DECIMAL(18,0), applicationid INT,
  applicationname VARCHAR(30), connecttime INT,
  customvariable1 VARCHAR(40), customvariable2 VARCHAR(40), customvariable3 VARCHAR(40), customvariable4 VARCHAR(40),
  customvariable5 VARCHAR(40), customvariable6 VARCHAR(40), customvariable7 VARCHAR(40), customvariable8 VARCHAR(40),
  customvariable9 VARCHAR(40), customvariable10 VARCHAR(40),
  accountnumber VARCHAR(40), callerentereddigits VARCHAR(40), badcalltag CHAR(1) DEFAULT 'N',
  transfer CHAR(1), redirect CHAR(1), conference CHAR(1), flowout CHAR(1), metservicelevel CHAR(1),
  campaignid INT, origprotocolcallref VARCHAR(32), destprotocolcallref VARCHAR(32), callresult SMALLINT, dialinglistid INT,
  contactid VARCHAR(40), lastleg CHAR(1),
  PRIMARY KEY (sessionid, sessionseqnum, nodeid, profileid));
CREATE INDEX IF NOT EXISTS ccd_start ON contactcalldetail (startdatetime);
-- Covering indexes for the reports' joins and scans (the stand-in's own; UCCX's db_cra has its indexes).
CREATE INDEX IF NOT EXISTS ccd_report ON contactcalldetail (startdatetime, sessionseqnum, contacttype, contactdisposition, sessionid, nodeid, profileid);
CREATE INDEX IF NOT EXISTS ccd_abandoned ON contactcalldetail (contactdisposition, startdatetime);
CREATE INDEX IF NOT EXISTS ccd_ended ON contactcalldetail (contactdisposition, enddatetime);
CREATE TABLE IF NOT EXISTS contactqueuedetail (
  sessionid DECIMAL(18,0) NOT NULL, sessionseqnum SMALLINT NOT NULL, profileid INT NOT NULL, nodeid SMALLINT NOT NULL,
  targetid INT NOT NULL, targettype SMALLINT NOT NULL, qindex SMALLINT NOT NULL, queueorder SMALLINT NOT NULL,
  disposition SMALLINT, metservicelevel CHAR(1), queuetime INT, startdatetime TEXT, enddatetime TEXT, contactid VARCHAR(40),
  PRIMARY KEY (sessionid, sessionseqnum, profileid, nodeid, targetid, targettype, qindex));
CREATE INDEX IF NOT EXISTS cqd_report ON contactqueuedetail (sessionid, sessionseqnum, nodeid, profileid, targettype, targetid, disposition, queuetime, metservicelevel);
CREATE TABLE IF NOT EXISTS contactroutingdetail (
  sessionid DECIMAL(18,0) NOT NULL, sessionseqnum SMALLINT NOT NULL, nodeid SMALLINT NOT NULL, profileid INT NOT NULL,
  qindex SMALLINT NOT NULL, origpriority SMALLINT, finalpriority SMALLINT, queuetime INT, startdatetime TEXT NOT NULL,
  contactid VARCHAR(40),
  PRIMARY KEY (sessionid, sessionseqnum, nodeid, profileid, qindex));
CREATE TABLE IF NOT EXISTS agentconnectiondetail (
  sessionid DECIMAL(18,0) NOT NULL, sessionseqnum SMALLINT NOT NULL, nodeid SMALLINT NOT NULL, profileid INT NOT NULL,
  resourceid INT NOT NULL, startdatetime TEXT NOT NULL, enddatetime TEXT NOT NULL, qindex SMALLINT NOT NULL,
  gmtoffset SMALLINT NOT NULL DEFAULT 0, ringtime SMALLINT, talktime INT, holdtime SMALLINT, worktime SMALLINT,
  callwrapupdata VARCHAR(40), callresult SMALLINT, dialinglistid INT, rna CHAR(1), loginsessionid VARCHAR(18), contactid VARCHAR(40),
  csqrecordid INT, consultsessionid DECIMAL(18,0),
  PRIMARY KEY (sessionid, sessionseqnum, nodeid, profileid, resourceid, startdatetime, qindex));
CREATE INDEX IF NOT EXISTS acd_report ON agentconnectiondetail (sessionid, sessionseqnum, nodeid, profileid, resourceid, talktime, holdtime, worktime);
CREATE TABLE IF NOT EXISTS contactservicequeue (
  recordid INT NOT NULL PRIMARY KEY, contactservicequeueid INT NOT NULL, profileid INT NOT NULL,
  csqname VARCHAR(50) NOT NULL, resourcepooltype SMALLINT NOT NULL DEFAULT 2, resourcegroupid INT,
  selectioncriteria VARCHAR(30) NOT NULL DEFAULT 'Longest Available', skillgroupid INT, servicelevel INT NOT NULL,
  servicelevelpercentage SMALLINT NOT NULL, active CHAR(1) NOT NULL, autowork CHAR(1) NOT NULL DEFAULT 'f', dateinactive TEXT,
  queuealgorithm VARCHAR(30) NOT NULL DEFAULT 'FIFO', wrapuptime SMALLINT, queuetype SMALLINT NOT NULL DEFAULT 0,
  queuetypename VARCHAR(30));
CREATE TABLE IF NOT EXISTS resource (
  resourceid INT NOT NULL, profileid INT NOT NULL, resourceloginid VARCHAR(50) NOT NULL, resourcename VARCHAR(50) NOT NULL,
  resourcegroupid INT, resourcetype SMALLINT NOT NULL DEFAULT 1, active CHAR(1) NOT NULL, autoavail CHAR(1) NOT NULL DEFAULT 't',
  extension VARCHAR(50) NOT NULL, orderinrg INT, dateinactive TEXT, resourceskillmapid INT NOT NULL DEFAULT 0,
  assignedteamid INT NOT NULL DEFAULT 1, resourcefirstname VARCHAR(50) NOT NULL DEFAULT '',
  resourcelastname VARCHAR(50) NOT NULL DEFAULT '', resourcealias VARCHAR(50), capabilities SMALLINT NOT NULL DEFAULT 0,
  resourceemailid VARCHAR(255),
  PRIMARY KEY (resourceid, profileid));
CREATE TABLE IF NOT EXISTS agentstatedetail (
  agentid INT NOT NULL, eventdatetime TEXT NOT NULL, gmtoffset SMALLINT NOT NULL DEFAULT 0, eventtype SMALLINT NOT NULL,
  reasoncode SMALLINT NOT NULL, profileid INT NOT NULL, loginsessionid VARCHAR(18), contactid VARCHAR(40),
  PRIMARY KEY (agentid, eventdatetime, eventtype, reasoncode, profileid));
CREATE TABLE IF NOT EXISTS rtcsqssummary (
  csqname VARCHAR(50) NOT NULL PRIMARY KEY, loggedinagents INT, availableagents INT, unavailableagents INT, totalcalls INT,
  oldestcontact INT, callshandled INT, callsabandoned INT, callsdequeued INT, avgtalkduration INT, avgwaitduration INT,
  longesttalkduration INT, longestwaitduration INT, callswaiting INT, enddatetime TEXT, workingagents INT, talkingagents INT,
  reservedagents INT, startdatetime TEXT, convavgtalkduration VARCHAR(25), convavgwaitduration VARCHAR(25),
  convlongesttalkduration VARCHAR(25), convlongestwaitduration VARCHAR(25), convoldestcontact VARCHAR(25));
CREATE TABLE IF NOT EXISTS rticdstatistics (
  type VARCHAR(50) NOT NULL PRIMARY KEY, totalcsqs INT, loggedinagents INT, workingagents INT, reservedagents INT,
  talkingagents INT, availableagents INT, unavailableagents INT, totalcalls INT, callswaiting INT, callshandled INT,
  callsabandoned INT, avgtalkduration INT, avgwaitduration INT, longesttalkduration INT, longestwaitduration INT,
  oldestcontact INT, startdatetime TEXT, enddatetime TEXT, convavgtalkduration VARCHAR(25), convavgwaitduration VARCHAR(25),
  convlongesttalkduration VARCHAR(25), convlongestwaitduration VARCHAR(25), convoldestcontact VARCHAR(25));
`;
