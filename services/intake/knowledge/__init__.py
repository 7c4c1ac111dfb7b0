"""The knowledge base (知识库, R19): policy answers the units maintain and the hotline's operators use.

Why it lives in intake: the operators search it during the call, at intake, and a direct answer
(直接答复/即时办结) registers a ticket that cites an entry. Citing must see the entry as it is at that
moment (published, valid today) and count its use, in the same service that numbers and archives
the ticket, with no RPC in the registration path and no copy of the entries elsewhere. It is its own
module set (this package: commands, domain, schemas, search, store, fakes, handlers) beside the
ticket's; its commands join intake's one handler table.
"""
