from django.contrib.auth.decorators import login_required


@login_required
def case_list(request):
    raise NotImplementedError


case_detail = case_feedback = case_attachment_upload = attachment_download = notification_list = case_list
