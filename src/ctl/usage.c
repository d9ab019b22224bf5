/*
 * usage.c - the help texts of smsctl, kept apart from option parsing so that src/smsctl.c
 * stays a table of commands and options.
 *
 * Design: one static text per command, looked up by name; the general usage lists every
 * command and the global options. docs/smsctl.md is the long form of the same texts: a change
 * here belongs there too. The man page smsctl(1) is these texts in roff (ctl_usage_man,
 * `smsctl --man`), so it says what --help says.
 */
#include "ctl/usage.h"

#include "ctl/campaign.h"
#include "ctl/hours.h"
#include "ctl/routes.h"

#include <string.h>

#include "util/man.h"
#include "util/util.h"

static const char usage_general[] =
    "usage: smsctl [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "Operator commands (admin API, authenticated with the admin token):\n"
    "  account create NAME [--credits N]      create an account, print its service and keys\n"
    "  account list                           list accounts and their credits\n"
    "  account limit NAME                     show an account's request rate limit\n"
    "  account set-limit NAME RATE|default BURST|default\n"
    "                                         set it (requests/s per application key)\n"
    "  sender approve|refuse|disable SERVICE SENDER [--comment TEXT]\n"
    "  sender code SERVICE SENDER\n"
    "  account add-service NAME [--credits N]\n"
    "  template list SERVICE\n"
    "  template approve|refuse SERVICE NAME [--comment TEXT]\n"
    "                                         moderate a sender name\n"
    "  sender list SERVICE                    senders, with earlier refusals\n"
    "  credential validate|refuse|show CONSUMER_KEY\n"
    "                                         validate, refuse or show a consumer key\n"
    "  service credit SERVICE AMOUNT [--reason TEXT]\n"
    "                                         add (or, negative, remove) credits\n"
    "  service secret SERVICE                 show the key of its callbacks' signatures\n"
    "  callbacks list SERVICE [--state pending|dead|delivered]\n"
    "                                         list status callbacks (default: pending, dead)\n"
    "  callbacks replay SERVICE [--id N]      make dead callbacks (or callback N) again\n"
    "  blacklist list SERVICE                 numbers that opted out (STOP) of its marketing\n"
    "  blacklist add|remove SERVICE NUMBER    blacklist a number, or let marketing reach it\n"
    "  ledger SERVICE                         show a service's credit ledger\n"
    "  incoming list [--service S|--unattributed|--partial]\n"
    "                                         SMS received from mobiles\n"
    "  price list [--billing B]               credits per destination, packs and VAT\n"
    "  price set COUNTRY CREDITS|default      credits per SMS part to a destination\n"
    "  price set-pack BILLING QUANTITY PRICE  price of a pack of credits, without tax\n"
    "  price set-vat BILLING RATE             VAT rate (percent) of a billing country\n"
    "  order list [--service S] [--state unpaid|paid|cancelled]\n"
    "                                         list purchase orders\n"
    "  order show|pay|cancel ID [--reference TEXT]\n"
    "                                         show, pay (once) or cancel an order\n"
    "  health                                 check that the server answers\n"
    "  node list                              the nodes sharing the database, what they hold\n"
    "  number add SERVICE NUMBER              give a virtual number to a service\n"
    "  number list [SERVICE]                  list virtual numbers\n"
    "  number remove NUMBER                   take a virtual number back\n"
    "  number response NUMBER RESPONSE|default\n"
    "                                         smsResponse of the replies sent to a number\n"
    "  user add SERVICE LOGIN [--password P]  give a service an SMS user (password: P or stdin)\n"
    "  user list SERVICE                      list a service's SMS users\n"
    "  user passwd SERVICE LOGIN [--password P]\n"
    "                                         change an SMS user's password\n"
    "  user remove SERVICE LOGIN              remove an SMS user\n"
    "  route add|set|list|remove|disable|enable|status ...\n"
    "                                         manage the routes to operators (SMPP, sim)\n"
    "  hours list|set COUNTRY ...             marketing hours per destination country\n"
    "\n"
    "Customer commands (OVH API, signed with OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and\n"
    "OVH_CONSUMER_KEY):\n"
    "  send --service S --to NUMBER [--to NUMBER ...] [SEND OPTIONS] MESSAGE\n"
    "                                         send an SMS (MESSAGE '-' reads standard input)\n"
    "  status --service S ID                  show the delivery status of one SMS\n"
    "  campaign status --service S TAG [--watch]\n"
    "                                         progress of the SMS carrying TAG (a campaign)\n"
    "\n"
    "Global options (before or after the command):\n"
    "  --data DIR         smsgated's data directory (default: $SMSGATE_DATA, else ./data)\n"
    "  --url URL          server base URL (default: $SMSGATE_URL, else DIR/smsgated.url)\n"
    "  --json             print the server's JSON answer as is\n"
    "  --insecure         do not verify the server's TLS certificate\n"
    "  --cacert FILE      trust this CA file for https (default: $SMSGATE_CA_FILE)\n"
    "  --timeout SECONDS  limit for each request (default: 30)\n"
    "  -h, --help         show help (for COMMAND when one is given)\n"
    "\n"
    "Environment: SMSGATE_DATA, SMSGATE_URL, SMSGATE_ADMIN_TOKEN (else DIR/admin.token),\n"
    "SMSGATE_CA_FILE, OVH_ENDPOINT (an http(s) URL such as http://127.0.0.1:8080/1.0; default:\n"
    "server URL + /1.0), OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY.\n"
    "\n"
    "Exit status: 0 success, 1 API or network error, 2 usage error.\n"
    "Run 'smsctl help COMMAND' for a command's details; see docs/smsctl.md.\n";

static const char usage_account[] =
    "usage: smsctl account create NAME [--credits N]\n"
    "       smsctl account list\n"
    "       smsctl account limit NAME\n"
    "       smsctl account set-limit NAME RATE|default BURST|default\n"
    "       smsctl account add-service NAME [--credits N]\n"
    "\n"
    "create  POST /admin/accounts. NAME: 1-32 characters of a-z 0-9 '-'. --credits N sets the\n"
    "        starting balance (N >= 0). Prints serviceName, applicationKey, applicationSecret\n"
    "        and consumerKey, one 'key: value' line each (--json: the whole answer). The\n"
    "        consumer key is already validated for /sms/*.\n"
    "list    GET /admin/accounts. Prints ACCOUNT, SERVICE and CREDITS columns.\n"
    "limit   GET /admin/accounts/NAME/limits. Prints 'NAME: rate R, burst B'.\n"
    "set-limit  PUT /admin/accounts/NAME/limits. RATE: signed requests per second allowed to\n"
    "        each application key of the account (0: no limit); BURST: how many at once\n"
    "        (0: one second's worth). 'default' stands for the server's rate-limit-per-key\n"
    "        and rate-limit-per-key-burst. Applies to the next request.\n"
    "add-service  POST /admin/accounts/NAME/services: a new service for the account, named\n"
    "        sms-NAME-N (the first N free from 2), with --credits N credits (default 0).\n"
    "        Prints its name. Credits move between an account's services with\n"
    "        POST /sms/SERVICE/transferCredits.\n";

static const char usage_sender[] =
    "usage: smsctl sender approve|refuse|disable SERVICE SENDER [--comment TEXT]\n"
    "\n"
    "PUT /admin/services/SERVICE/senders/SENDER with status enable (approve), refused (refuse)\n"
    "or disable (disable). --comment TEXT is stored as the sender's comment (the reason of a\n"
    "refusal, shown to the customer). Quote a SENDER that contains spaces.\n"
    "\n"
    "usage: smsctl sender list SERVICE\n"
    "\n"
    "GET /admin/services/SERVICE/senders: every sender of the service, deleted ones too, with\n"
    "SENDER, STATUS, COMMENT and REFUSED BEFORE (a sender refused, deleted by the customer and\n"
    "declared again: how many times, the last date and comment). --json: the whole answer,\n"
    "with each sender's history.\n"
    "\n"
    "usage: smsctl sender code SERVICE SENDER\n"
    "\n"
    "POST /admin/services/SERVICE/senders/SENDER/code: issues a new validation code for the\n"
    "sender (6 digits, replacing any earlier one) and prints it. Deliver it to the owner of\n"
    "the number; POST /sms/SERVICE/senders/SENDER/validate {\"code\"} then enables the\n"
    "sender. Five wrong codes void it.\n";

static const char usage_template[] =
    "usage: smsctl template approve|refuse SERVICE NAME [--comment TEXT]\n"
    "\n"
    "PUT /admin/services/SERVICE/templates/NAME with status enable (approve) or refused\n"
    "(refuse): the operator's decision on a template declared with POST\n"
    "/sms/SERVICE/templatesControl. --comment TEXT is shown to the customer as the template's\n"
    "comment.\n"
    "\n"
    "usage: smsctl template list SERVICE\n"
    "\n"
    "GET /admin/services/SERVICE/templates: the service's templates with NAME, STATUS,\n"
    "ACTIVITY, COMMENT and MESSAGE (--json: the whole answer, sms.TemplateControl objects).\n";

static const char usage_credential[] =
    "usage: smsctl credential validate|refuse|show CONSUMER_KEY\n"
    "\n"
    "POST /admin/credentials/CONSUMER_KEY/validate (state becomes validated) or .../refuse\n"
    "(state becomes refused): answers a customer's POST /auth/credential request. A request\n"
    "older than consumer-key-pending-ttl-s has expired: validate then fails (460).\n"
    "show  GET /admin/credentials/CONSUMER_KEY: status, creation, expiration and\n"
    "      validationDeadline, one 'key: value' line each (--json: the rules too).\n";

static const char usage_service[] =
    "usage: smsctl service credit SERVICE AMOUNT [--reason TEXT]\n"
    "       smsctl service secret SERVICE\n"
    "\n"
    "secret  GET /admin/services/SERVICE/callback-secret. Prints the key of the HMAC-SHA256\n"
    "        X-Smsgate-Signature header of the service's status callbacks (docs/callbacks.md),\n"
    "        created on first use; hand it to the customer.\n"
    "credit  POST /admin/services/SERVICE/credits. AMOUNT is a non-zero number, negative to\n"
    "        remove credits (e.g. -5.5). The adjustment is written to the ledger with the\n"
    "        reason. Prints 'creditsLeft: N'.\n";

static const char usage_ledger[] =
    "usage: smsctl ledger SERVICE\n"
    "\n"
    "GET /admin/services/SERVICE/ledger. Prints ID, DATETIME, AMOUNT, KIND, BALANCE and REF\n"
    "columns, in the order the server returns them.\n";

static const char usage_health[] =
    "usage: smsctl health\n"
    "\n"
    "GET /admin/health. Prints 'ok (version V)'; exits 1 when the server cannot be reached or\n"
    "refuses the admin token.\n";

static const char usage_send[] =
    "usage: smsctl send --service S --to NUMBER [--to NUMBER ...] [OPTIONS] MESSAGE\n"
    "\n"
    "POST {endpoint}/sms/S/jobs, signed like the OVH SDKs sign it. MESSAGE '-' reads the\n"
    "message from standard input (one trailing line break removed). Quote a MESSAGE made of\n"
    "several words; put '--' before a MESSAGE that starts with '-'.\n"
    "\n"
    "  --service S          the service name (sms-...), required\n"
    "  --to NUMBER          a receiver, +33612345678 or 0033612345678; repeat for several\n"
    "  --sender NAME        an enabled sender of the service\n"
    "  --sender-for-response  send from a number that accepts replies\n"
    "  --no-stop            non-commercial message: no STOP clause appended\n"
    "  --tag T              free label stored on every SMS of the job\n"
    "  --differed MINUTES   wait this many minutes before sending\n"
    "  --priority P         high, medium, low or veryLow\n"
    "  --idempotency-key K  the Idempotency-Key to send (default: a random one); running the\n"
    "                       same command again with the same K sends nothing new and prints\n"
    "                       the first answer (within the server's idempotency-ttl-s)\n"
    "\n"
    "Without an answer, the call is retried once with the same key.\n"
    "Prints 'ids: ID ...', the invalid receivers if any, and the credits removed\n"
    "(--json: the whole sending report).\n"
    "Keys: OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY. Endpoint:\n"
    "OVH_ENDPOINT when it is an http(s) URL, else the server URL + /1.0.\n";

static const char usage_status[] =
    "usage: smsctl status --service S ID\n"
    "\n"
    "GET {endpoint}/sms/S/outgoing/ID, or /sms/S/jobs/ID while the SMS is still pending,\n"
    "signed like 'send'. Prints\n"
    "  id ID: deliveryReceipt D (meaning), ptt P, sentAt T, deliveredAt T\n"
    "('-' for a time not reached yet; --json: the whole object).\n";

static const char usage_help[] =
    "usage: smsctl help [COMMAND]\n"
    "\n"
    "Prints the general usage, or the help of COMMAND.\n";

static const char usage_callbacks[] =
    "usage: smsctl callbacks list SERVICE [--state pending|dead|delivered]\n"
    "       smsctl callbacks replay SERVICE [--id N]\n"
    "\n"
    "list    GET /admin/services/SERVICE/callbacks. Prints ID, MESSAGE, DLR, STATE, ATTEMPTS,\n"
    "        NEXT (next attempt), LAST (last HTTP status) and ERROR columns; without --state,\n"
    "        the pending and the dead (given up) calls.\n"
    "replay  POST /admin/services/SERVICE/callbacks/replay. Makes every dead call of the\n"
    "        service again, or only call N (also a delivered or pending one). Prints\n"
    "        'replayed: N'.\n";

static const char usage_incoming[] =
    "usage: smsctl incoming list [--service S | --unattributed | --partial]\n"
    "\n"
    "list    GET /admin/incoming. Prints the SMS received from mobiles, newest first (at most\n"
    "        10,000): ID, DATE, SERVICE ('-' when unattributed), FROM, TO, REPLY-TO (the SMS it\n"
    "        answers), ROUTE and TEXT. --service S: that service's only; --unattributed: those\n"
    "        that belong to no service (sent to no virtual number, answering no SMS of the\n"
    "        reply window). --partial: the multi-part messages still missing parts instead\n"
    "        (ID, FIRST, FROM, TO, ROUTE, REF, PARTS received/total, LAST).\n";

static const char usage_blacklist[] =
    "usage: smsctl blacklist list SERVICE\n"
    "       smsctl blacklist add|remove SERVICE NUMBER\n"
    "\n"
    "list    GET /admin/services/SERVICE/blacklists. Prints NUMBER, SINCE, SMS (the SMS with\n"
    "        the STOP clause the number answered), BATCH (its batch) and SOURCE (stop: the\n"
    "        number opted out; operator: added with 'blacklist add').\n"
    "add     POST /admin/services/SERVICE/blacklists. The service's SMS carrying the STOP\n"
    "        clause are refused for NUMBER from now on (invalidReceivers, not charged).\n"
    "        Prints 'added NUMBER', or 'NUMBER was already blacklisted'.\n"
    "remove  DELETE /admin/services/SERVICE/blacklists/NUMBER: marketing SMS reach it again.\n"
    "        Prints 'removed NUMBER'.\n"
    "NUMBER is normalised like a receiver (0612345678 and +33612345678 are the same).\n";

static const char usage_node[] =
    "usage: smsctl node list\n"
    "\n"
    "list    GET /admin/nodes. Prints every node that registered in the database\n"
    "        (docs/cluster.md): NODE, STATE (alive; dead: silent for node-timeout-s, its\n"
    "        work taken over; stopped: exited cleanly), ADDRESS, HEARTBEAT (age of its last\n"
    "        one), MESSAGES and CALLBACKS it holds leased now, and BINDS, the bind slots it\n"
    "        holds (route#n: the route's n-th bind).\n";

static const char usage_user[] =
    "usage: smsctl user add SERVICE LOGIN [--password P]\n"
    "       smsctl user list SERVICE\n"
    "       smsctl user passwd SERVICE LOGIN [--password P]\n"
    "       smsctl user remove SERVICE LOGIN\n"
    "\n"
    "SMS users (docs/users.md): logins with a password that send for a service through\n"
    "/sms/SERVICE/users/LOGIN/jobs, http2sms and Kannel's sendsms, each with its quota,\n"
    "callBack and allowed addresses (set with PUT /sms/SERVICE/users/LOGIN). Without\n"
    "--password, the password is read from the first line of standard input, which keeps it\n"
    "out of the process list. A login has 3 to 32 letters, digits, '.', '-' or '_'; a\n"
    "password 8 to 64 characters. The server stores only a salted PBKDF2 hash.\n"
    "add     POST /admin/services/SERVICE/users.\n"
    "list    GET /admin/services/SERVICE/users: LOGIN, QUOTA (active or inactive), LEFT\n"
    "        (credits), CALLBACK, IPS (ipRestrictions), CREATED. Never a password.\n"
    "passwd  PUT /admin/services/SERVICE/users/LOGIN {password}.\n"
    "remove  DELETE /admin/services/SERVICE/users/LOGIN; its SMS stay in the service's\n"
    "        history.\n";

static const char usage_number[] =
    "usage: smsctl number add SERVICE NUMBER\n"
    "       smsctl number list [SERVICE]\n"
    "       smsctl number remove NUMBER\n"
    "       smsctl number response NUMBER RESPONSE|default\n"
    "\n"
    "Virtual numbers (docs/replies.md): long numbers of an operator on which a service sends\n"
    "(/sms/SERVICE/virtualNumbers/NUMBER/jobs) and receives replies. NUMBER in international\n"
    "form (+33700000001; 0033700000001 and, in default-region, national numbers are read\n"
    "too), of a country with virtual numbers at OVH: be, ch, de, es, fr, uk.\n"
    "add       POST /admin/services/SERVICE/numbers: NUMBER becomes SERVICE's. A number\n"
    "          belongs to one service at most: one that is another service's is refused\n"
    "          (remove it there first); adding it again to the same service changes nothing.\n"
    "list      GET /admin/numbers[?service=SERVICE]. Prints NUMBER, SERVICE, COUNTRY, CREATED\n"
    "          and RESPONSE (the responseType of its own smsResponse, '-' for the service's).\n"
    "remove    DELETE /admin/numbers/NUMBER. SMS sent from it stay in the service's history;\n"
    "          the customer no longer sees the number.\n"
    "response  PUT /admin/numbers/NUMBER: the smsResponse (OVH's sms.Response, as JSON, e.g.\n"
    "          '{\"responseType\":\"cgi\",\"cgiUrl\":\"https://example.com/mo\"}') of the\n"
    "          replies sent to NUMBER, merged over its current one; 'default' goes back to the\n"
    "          service's.\n";

static const char usage_price[] =
    "usage: smsctl price list [--billing B]\n"
    "       smsctl price set COUNTRY CREDITS|default\n"
    "       smsctl price set-pack BILLING QUANTITY PRICE\n"
    "       smsctl price set-vat BILLING RATE\n"
    "\n"
    "list      GET /admin/prices. Prints COUNTRY, CREDITS, SOURCE (store or built-in) and NAME\n"
    "          for every destination, then BILLING, CURRENCY, VAT%, QUANTITY and PRICE WITHOUT\n"
    "          TAX for every pack (--billing B: only billing country B's).\n"
    "set       PUT /admin/prices/destinations/COUNTRY: credits per SMS part to COUNTRY (a\n"
    "          lower-case code such as fr), 0 to 1000; 'default' goes back to the built-in rate.\n"
    "          Sends are priced from this table in their own transaction.\n"
    "set-pack  PUT /admin/prices/packs/BILLING/QUANTITY: price without tax of the pack of\n"
    "          QUANTITY credits (100, 200, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,\n"
    "          100000, 1000000) in BILLING's currency (es, fr, ie, it: EUR; gb: GBP; pl: PLN).\n"
    "set-vat   PUT /admin/prices/vat/BILLING: VAT rate in percent, 0 to 100.\n";

static const char usage_order[] =
    "usage: smsctl order list [--service S] [--state unpaid|paid|cancelled]\n"
    "       smsctl order show ID\n"
    "       smsctl order pay ID [--reference TEXT]\n"
    "       smsctl order cancel ID\n"
    "\n"
    "list    GET /admin/orders. Prints ID, SERVICE, DATE, CREDITS, STATUS, AUTO, MEANS and\n"
    "        PRICE WITH TAX, oldest first.\n"
    "show    GET /admin/orders/ID, one 'key: value' line per field.\n"
    "pay     POST /admin/orders/ID/pay: the order's credits are added through the ledger, once;\n"
    "        paying a paid order again changes nothing and says 'already paid'. --reference\n"
    "        TEXT keeps the payment's reference (an invoice or transaction id). Prints the\n"
    "        credits left.\n"
    "cancel  POST /admin/orders/ID/cancel: an unpaid order is cancelled (a paid one: 409).\n";

static const struct {
    const char *name;
    const char *text;
} texts[] = {
    {"account", usage_account}, {"sender", usage_sender}, {"credential", usage_credential},
    {"service", usage_service}, {"ledger", usage_ledger}, {"health", usage_health},
    {"send", usage_send},       {"status", usage_status}, {"help", usage_help},
    {"callbacks", usage_callbacks},
    {"incoming", usage_incoming},
    {"blacklist", usage_blacklist},
    {"node", usage_node},
    {"number", usage_number},
    {"user", usage_user},
    {"price", usage_price},     {"order", usage_order},
    {"route", ctl_route_usage},
    {"campaign", ctl_campaign_usage},
    {"hours", ctl_hours_usage},
    {"template", usage_template},
};

int ctl_usage_print(FILE *f, const char *cmd) {
    if (!cmd) {
        fputs(usage_general, f);
        return 0;
    }
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (strcmp(texts[i].name, cmd) == 0) {
            fputs(texts[i].text, f);
            return 0;
        }
    }
    return SG_ENOTFOUND;
}

void ctl_usage_man(FILE *f) {
    fputs(".TH SMSCTL 1 \"\" \"smsgate " SMSGATE_VERSION "\" \"smsgate\"\n"
          ".nh\n"
          ".SH NAME\n"
          "smsctl \\- operator and customer commands for smsgated\n"
          ".SH SYNOPSIS\n"
          ".B smsctl\n"
          "[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR] [\\fIOPTIONS\\fR]\n"
          ".br\n"
          ".B smsctl help\n"
          "[\\fICOMMAND\\fR]\n"
          ".SH DESCRIPTION\n"
          ".B smsctl\n"
          "talks to a running\n"
          ".BR smsgated (8):\n"
          "operator commands go to its admin API with the admin token, customer commands to its\n"
          "OVH-compatible API, signed like the OVH SDKs sign.\n"
          "This page is the text of \\fBsmsctl \\-\\-help\\fR and of\n"
          "\\fBsmsctl help\\fR \\fICOMMAND\\fR for every command.\n",
          f);
    const char *rest = strstr(usage_general, "\n\n"); /* after the "usage:" line */
    sg_man_text(f, rest ? rest : usage_general);
    fputs(".SH COMMANDS\n", f);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        fputs(".SS ", f);
        sg_man_puts(f, texts[i].name);
        fputc('\n', f);
        sg_man_text(f, texts[i].text);
    }
    fputs(".SH SEE ALSO\n.BR smsgated (8)\n", f);
}
