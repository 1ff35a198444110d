"""The ticket desk in the staff dashboard (registered by `techsupport.admin`): the queue, the ticket
page with its forms, the "log a contact" page and the SLA statistics. Every write goes through
`techsupport.services.tickets`; these modules only parse what a form posted and show the outcome."""
