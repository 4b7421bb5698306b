/*
 * libpq, loaded when a gestor is configured with storage.backend =
 * "postgresql" and not before. Linked in, libpq brings OpenSSL, Kerberos
 * and LDAP into every p2pchatd: their relocations and constructors are
 * about 0.8 MiB of private memory in each idle peer, which never talks
 * to PostgreSQL (make bench: idle peer USS 2.4 -> 1.6 MiB).
 *
 * The gestor's PostgreSQL files include this header instead of
 * <libpq-fe.h>: it declares the table of the libpq functions they use and
 * turns each call into a call through the table. pqdl_load() opens the
 * library (once) and fills the table; a function missing from this list
 * is a link error, not a silent direct dependency.
 */
#ifndef P2P_PQDL_H
#define P2P_PQDL_H

#include <libpq-fe.h>

#define PQDL_FUNCS(X) \
	X(PQclear) \
	X(PQcmdTuples) \
	X(PQconnectPoll) \
	X(PQconnectStartParams) \
	X(PQconnectdbParams) \
	X(PQconninfoFree) \
	X(PQconninfoParse) \
	X(PQconsumeInput) \
	X(PQdb) \
	X(PQenterPipelineMode) \
	X(PQerrorMessage) \
	X(PQexec) \
	X(PQexecParams) \
	X(PQfname) \
	X(PQfinish) \
	X(PQflush) \
	X(PQfreemem) \
	X(PQgetResult) \
	X(PQgetisnull) \
	X(PQgetlength) \
	X(PQgetvalue) \
	X(PQhost) \
	X(PQisBusy) \
	X(PQnfields) \
	X(PQnotifies) \
	X(PQntuples) \
	X(PQpipelineSync) \
	X(PQport) \
	X(PQresultErrorField) \
	X(PQresultErrorMessage) \
	X(PQresultStatus) \
	X(PQsendQuery) \
	X(PQsendQueryParams) \
	X(PQsendQueryPrepared) \
	X(PQsetNoticeProcessor) \
	X(PQsetnonblocking) \
	X(PQsocket) \
	X(PQstatus)

struct pqdl {
#define PQDL_MEMBER(f)	__typeof__(f) *f;
	PQDL_FUNCS(PQDL_MEMBER)
#undef PQDL_MEMBER
};
extern struct pqdl pqdl;

/* 0, or -1 and *cause (the library or the symbol that is missing). */
int	pqdl_load(char **cause);

#ifndef PQDL_IMPLEMENTATION
#define PQclear	(*pqdl.PQclear)
#define PQcmdTuples	(*pqdl.PQcmdTuples)
#define PQconnectPoll	(*pqdl.PQconnectPoll)
#define PQconnectStartParams	(*pqdl.PQconnectStartParams)
#define PQconnectdbParams	(*pqdl.PQconnectdbParams)
#define PQconninfoFree	(*pqdl.PQconninfoFree)
#define PQconninfoParse	(*pqdl.PQconninfoParse)
#define PQconsumeInput	(*pqdl.PQconsumeInput)
#define PQdb	(*pqdl.PQdb)
#define PQenterPipelineMode	(*pqdl.PQenterPipelineMode)
#define PQerrorMessage	(*pqdl.PQerrorMessage)
#define PQexec	(*pqdl.PQexec)
#define PQexecParams	(*pqdl.PQexecParams)
#define PQfname	(*pqdl.PQfname)
#define PQfinish	(*pqdl.PQfinish)
#define PQflush	(*pqdl.PQflush)
#define PQfreemem	(*pqdl.PQfreemem)
#define PQgetResult	(*pqdl.PQgetResult)
#define PQgetisnull	(*pqdl.PQgetisnull)
#define PQgetlength	(*pqdl.PQgetlength)
#define PQgetvalue	(*pqdl.PQgetvalue)
#define PQhost	(*pqdl.PQhost)
#define PQisBusy	(*pqdl.PQisBusy)
#define PQnfields	(*pqdl.PQnfields)
#define PQnotifies	(*pqdl.PQnotifies)
#define PQntuples	(*pqdl.PQntuples)
#define PQpipelineSync	(*pqdl.PQpipelineSync)
#define PQport	(*pqdl.PQport)
#define PQresultErrorField	(*pqdl.PQresultErrorField)
#define PQresultErrorMessage	(*pqdl.PQresultErrorMessage)
#define PQresultStatus	(*pqdl.PQresultStatus)
#define PQsendQuery	(*pqdl.PQsendQuery)
#define PQsendQueryParams	(*pqdl.PQsendQueryParams)
#define PQsendQueryPrepared	(*pqdl.PQsendQueryPrepared)
#define PQsetNoticeProcessor	(*pqdl.PQsetNoticeProcessor)
#define PQsetnonblocking	(*pqdl.PQsetnonblocking)
#define PQsocket	(*pqdl.PQsocket)
#define PQstatus	(*pqdl.PQstatus)
#endif

#endif
